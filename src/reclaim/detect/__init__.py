"""reclaim.detect"""
