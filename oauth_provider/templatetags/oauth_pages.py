"""Filters for the pages a person sees (login, consent, connected apps)."""

from django import template

from ..presenters import breakable_domain

register = template.Library()
register.filter("breakable_domain", breakable_domain)
