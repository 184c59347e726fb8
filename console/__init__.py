"""The web console: sign-in, dashboard, orders, dead letters, the flow designer and rule versions."""
