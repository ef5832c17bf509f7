"""Staff search: tracking code, words with or without diacritics, street names, and (for
operators) a caller's phone number through its keyed blind index."""
