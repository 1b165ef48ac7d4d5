"""Reading run results: percentiles, budgets and gates, comparison, plots, HTML report."""
