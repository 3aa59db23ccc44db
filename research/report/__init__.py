"""The backtest's report: metrics over a result (`metrics`), an offline HTML page with
plots (`html`), a few lines of text for the terminal (`text`)."""
