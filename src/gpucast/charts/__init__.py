"""Charts drawn as inline SVG with the standard library: :mod:`.svg` (shapes), :mod:`.curve` (a plan's
concurrency curve), :mod:`.plans` (the charts of a plan). Used by the web pages and the reports."""
