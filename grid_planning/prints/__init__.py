"""prints"""
