"""Where grid signals come from: one small interface, a synthetic provider, HTTP providers."""
