"""Reporting: tables and figures from run outputs."""
