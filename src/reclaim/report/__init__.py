"""reclaim.report"""
