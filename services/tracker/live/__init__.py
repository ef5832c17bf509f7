"""Live staff pages (issue 20): the store's change stream, fanned out by Server-Sent Events
to the pages each person may see, and who else has a ticket open."""
