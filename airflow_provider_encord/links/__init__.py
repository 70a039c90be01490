"""Operator extra links to the Encord web app."""
