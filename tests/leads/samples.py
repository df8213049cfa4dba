"""A lead and an activity as a partner sends them (reference §2, §4)."""

LEAD = {
    "source": "Zillow",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "808-123-1234",
    "role": "Buyer",
}

ACTIVITY = {"type": "property_viewed", "source": "Zillow", "description": "Viewed 12 Main St"}
