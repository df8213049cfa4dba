"""Filters for the delivery health page (templates/admin/leads/deliveryhealth/)."""

from datetime import datetime, timedelta

from django import template
from django.utils.timesince import timesince

from ..charts import grouped

register = template.Library()

register.filter("grouped", grouped)


@register.filter
def age(then: datetime, now: datetime) -> str:
    """`under a minute`, `5 minutes`, `2 hours, 3 minutes`: not `0 minutes`."""
    if now - then < timedelta(minutes=1):
        return "under a minute"
    return timesince(then, now)
