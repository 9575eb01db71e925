"""Where grid signals come from: one small interface, synthetic providers, HTTP providers."""
