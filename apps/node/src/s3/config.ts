/** The gateway's zod config lives with the node config (src/config/s3.ts), which composes it. */
export {
  type S3GatewayConfig,
  type S3GatewayConfigInput,
  s3GatewayConfigSchema,
} from '../config/s3.js';
