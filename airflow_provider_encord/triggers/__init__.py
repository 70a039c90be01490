"""Encord triggers: waiting in the triggerer for the deferrable sensor and operators."""
