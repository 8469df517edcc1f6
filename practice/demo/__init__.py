"""The demo practice `seed_demo` builds: a catalogue, patients, a year of sales, and a bulk
generator for benchmark-sized data."""
