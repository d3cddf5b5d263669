"""Domain rules the service applies: reporting windows, comparisons, health bands, untrusted text."""
