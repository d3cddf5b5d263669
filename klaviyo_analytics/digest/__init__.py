"""The weekly digest: one readable report per account, as Markdown or HTML, with charts."""
