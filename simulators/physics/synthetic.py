"""Sample places for synthetic populations (benchmarks, ``seed_farm``): both hemispheres, ten
IANA timezones, with a representative latitude and longitude [deg] for each."""

SAMPLE_ZONES: tuple[tuple[str, float, float], ...] = (
    ("America/Los_Angeles", 37.0, -120.0),
    ("America/New_York", 40.0, -75.0),
    ("America/Sao_Paulo", -23.0, -47.0),
    ("Europe/Berlin", 51.0, 10.0),
    ("Europe/London", 52.0, -1.0),
    ("Africa/Johannesburg", -26.0, 28.0),
    ("Asia/Kolkata", 20.0, 78.0),
    ("Asia/Tokyo", 36.0, 139.0),
    ("Australia/Sydney", -33.0, 151.0),
    ("Pacific/Auckland", -41.0, 174.0),
)
