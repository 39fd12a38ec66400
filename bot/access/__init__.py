"""Who may do what: roles per project, user groups, the rate limit."""
