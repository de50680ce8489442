"""reclaim.cli"""
