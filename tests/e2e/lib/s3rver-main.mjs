// SPDX-License-Identifier: MIT
// s3rver in a process of its own (lib/s3.mjs starts it with --openssl-legacy-provider: its
// ListObjectsV2 continuation tokens are DES-encrypted, a cipher OpenSSL 3 keeps in its legacy
// provider). argv: directory, bucket names. Prints its port as one JSON line; stops on SIGTERM.
import S3rver from 's3rver';

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
// a throwaway server: connections a client cut off mid-body would make close() wait forever
process.on('SIGTERM', () => process.exit(0));
