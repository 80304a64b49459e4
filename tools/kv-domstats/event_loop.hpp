// kv-domstats' libvirt event loop, for lifecycle events (--interval).
//
// libvirt delivers domain events only to a client that runs an event loop,
// and once one is registered every remote connection of the process watches
// its socket on it: each RPC then takes the socket off the loop and puts it
// back, waking the loop thread twice. On the bulk stats path that cost 65 %
// more client CPU per call with libvirt's default loop (100 domains,
// measured). So kv-domstats registers a loop of its own
// (virEventRegisterImpl: poll(2) on one thread) that watches only the
// sockets of connections opened inside an AsyncConnections scope, the
// lifecycle-event connections; every other connection is refused a watch
// and stays synchronous, exactly as with no event loop at all. Timers
// (event dispatch, keepalive) are always accepted.
//
// The loop sleeps in poll(2) with no timeout while no timer is armed: it
// takes no CPU while nothing happens.
#pragma once

namespace kv::domstats::event_loop {

// Registers the loop with libvirt and starts its thread. Call once, before
// any libvirt connection is opened; later calls do nothing.
void start();

// True once start() has run.
bool started();

// While one lives on a thread, connections opened on that thread are
// watched by the loop (asynchronous: events and keepalive work).
class AsyncConnections {
 public:
  AsyncConnections();
  ~AsyncConnections();
  AsyncConnections(const AsyncConnections&) = delete;
  AsyncConnections& operator=(const AsyncConnections&) = delete;

 private:
  bool previous_;
};

}  // namespace kv::domstats::event_loop
