"""reclaim.collect"""
