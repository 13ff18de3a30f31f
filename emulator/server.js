// Local Firestore gRPC server for `make run`, `make emulator` and the tests.
// Binds only to the host of FIRESTORE_EMULATOR_HOST (default 127.0.0.1:8681): a dev database has no business on the network.
'use strict';
const grpc = require('@grpc/grpc-js');
const { FirestoreServer } = require('@firestore-emulator/server');

const address = process.argv[2] || process.env.FIRESTORE_EMULATOR_HOST || '127.0.0.1:8681';
const emulator = new FirestoreServer();

emulator.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`firestore emulator: cannot listen on ${address}: ${err.message}`);
    process.exit(1);
  }
  console.log(`firestore emulator listening on ${address} (port ${port})`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    emulator.server.forceShutdown();
    process.exit(0);
  });
}
