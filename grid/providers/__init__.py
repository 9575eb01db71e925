"""Where grid signals come from: one small interface, a synthetic provider per signal, HTTP providers."""
