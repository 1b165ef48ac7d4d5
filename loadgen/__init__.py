"""Load generation on Locust: citizens, journeys, arrival processes, shapes, measurement."""
