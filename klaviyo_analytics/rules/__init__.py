"""Domain rules the service applies: reporting windows, comparisons, significance, health bands, untrusted
text, outbound endpoint URLs."""
