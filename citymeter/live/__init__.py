"""The live stream: events published after commit, carried by a bus, served as SSE."""
