"""Compare window: two model results side by side or with a swipe, with their disagreement."""
