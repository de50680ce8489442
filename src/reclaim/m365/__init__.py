"""reclaim.m365"""
