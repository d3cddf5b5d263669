"""The vocabulary of the seeded accounts: metric catalog and the names objects are drawn from."""

from __future__ import annotations

_KLAVIYO = {"object": "integration", "id": "0rG4eQ", "key": "klaviyo", "name": "Klaviyo", "category": "Internal"}
_SHOPIFY = {"object": "integration", "id": "0eMvjm", "key": "shopify", "name": "Shopify", "category": "eCommerce"}
_API = {"object": "integration", "id": "7FtS4J", "key": "api", "name": "API", "category": "API"}
METRIC_CATALOG: tuple[tuple[str, dict[str, str]], ...] = (
    *(
        (name, _KLAVIYO)
        for name in (
            "Received Email",
            "Opened Email",
            "Clicked Email",
            "Bounced Email",
            "Marked Email as Spam",
            "Unsubscribed from Email Marketing",
            "Subscribed to Email Marketing",
            "Received SMS",
            "Clicked SMS",
            "Failed to Deliver SMS",
            "Subscribed to SMS Marketing",
            "Unsubscribed from SMS Marketing",
            "Subscribed to List",
            "Unsubscribed from List",
        )
    ),
    ("Placed Order", _SHOPIFY),
    ("Ordered Product", _SHOPIFY),
    ("Started Checkout", _SHOPIFY),
    ("Viewed Product", _API),
    ("Active on Site", _API),
)

LIST_NAMES = (
    "Newsletter",
    "VIP Customers",
    "SMS Subscribers",
    "Popup Signups",
    "Back in Stock Requests",
    "Holiday Gift Guide",
    "Wholesale Leads",
    "Event Attendees",
    "Preview List",
    "Instagram Giveaway",
    "Loyalty Members",
    "Footer Signups",
)
SEGMENT_NAMES = (
    "Engaged (90 days)",
    "Repeat Buyers",
    "VIP - Top 10%",
    "Churn Risk",
    "Unengaged 180 days",
    "Never Purchased",
    "SMS Engaged",
    "Browse Abandoners",
)
THEMES = (
    "Spring Sale Kickoff",
    "New Arrivals",
    "Weekend Flash Sale",
    "Customer Favorites",
    "Free Shipping Weekend",
    "Back in Stock",
    "Summer Essentials",
    "Staff Picks",
    "Black Friday Early Access",
    "Holiday Gift Guide",
    "Last Chance",
    "Member Exclusive",
    "How-To Guide",
    "Product Spotlight",
    "End of Season Clearance",
)
FIRST_NAMES = ("Ava", "Liam", "Maya", "Noah", "Zoe", "Omar", "Ivy", "Leo", "Nia", "Ezra", "Lena", "Kai", "Rosa", "Theo")
LAST_NAMES = ("Nguyen", "Patel", "Garcia", "Okafor", "Schmidt", "Rossi", "Kim", "Silva", "Haddad", "Novak", "Brown")
