"""Containers: NetChain and NetGraph, layers whose forward is the composition of their members."""
