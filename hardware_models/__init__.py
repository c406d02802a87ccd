"""Analog resistive-memory hardware models."""
