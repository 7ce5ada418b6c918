"""Jalin: CRM, B2B ordering hub and Business Relationship Management."""

__version__ = "0.1.0"
