"""reclaim.remediate"""
