"""reclaim.store"""
