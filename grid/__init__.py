"""Grid signals: tariffs, carbon intensity and weather per home, their providers and fallbacks."""
