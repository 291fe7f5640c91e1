"""first_temporal: a batch ETL for a simulated truck/SUV dealership, orchestrated by Temporal."""
