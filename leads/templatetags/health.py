"""Filters for the delivery health page (templates/admin/leads/deliveryhealth/)."""

from django import template

from ..charts import grouped

register = template.Library()

register.filter("grouped", grouped)
