"""The engine room: running workflows and their recorded operations (steps, messaging, sleeps,
child starts), the queue worker, the scheduler and the storage wrapper that rides out
outages. It imports the storage kit, the plugins and the base room, never the public face
(`dbos._dbos`, `dbos._queue`, handles) or the management kit."""
