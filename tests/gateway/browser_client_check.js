// Drives examples/mixed_stack/client.js (the browser page's client) from Node against a running gateway.
// usage: node [--experimental-websocket] browser_client_check.js CLIENT_JS URL TOKEN
// Prints one JSON object with what it saw; exits 1 on any failure.
"use strict";
const [clientPath, url, token] = process.argv.slice(2);
const { JidoGateway } = require(clientPath);

function collect(gw, pattern, count, options, onEach = () => {}) {
  const items = [];
  return new Promise((resolve, reject) => {
    gw.subscribe(pattern, (item) => {
      items.push(item);
      onEach(items.length);
      if (items.length === count) resolve(items.slice());
    }, options).catch(reject);
  });
}

(async () => {
  const gw = new JidoGateway(url, { token });
  await gw.connect();
  // Resume: the socket is closed under the client after 10 ticks; it reconnects and resumes after the last.
  const ticks = await collect(gw, "demo.tick", 30, { from: 1 }, (n) => { if (n === 10) gw.ws.close(4999, "test drop"); });
  const hello = collect(gw, "demo.hello", 1, {});
  const offset = await gw.publish(JidoGateway.signal("demo.hello", { from: "node" }));
  const [received] = await hello;
  const call = await gw.call("counter", JidoGateway.signal("counter.add", { by: 3 }));
  let forbidden = null;
  try {
    await gw.publish(JidoGateway.signal("other.thing"));
  } catch (error) {
    forbidden = [error.code, error.message];
  }
  const inspect = await gw.inspect();
  gw.close();
  console.log(JSON.stringify({
    ticks: ticks.map((item) => item.offset),
    reconnects: gw.reconnects,
    offset,
    received: [received.offset, received.signal.type, received.signal.data],
    call,
    forbidden,
    agents: inspect.agents.map((a) => a.id),
  }));
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
