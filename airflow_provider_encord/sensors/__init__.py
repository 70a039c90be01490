"""Encord sensors."""

from __future__ import annotations

from airflow_provider_encord.sensors.label_status import LabelStatusSensor

__all__ = ["LabelStatusSensor"]
