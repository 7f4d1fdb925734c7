"""What happens to a job, as a stream of events a browser can follow live and replay after a disconnect."""
