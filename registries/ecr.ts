// Amazon ECR: the password is a 12-hour token from `aws ecr get-login-password`; the user is AWS.
import type { RegistryDriver } from './types.ts';

export function ecrRegion(host: string, region?: string): string | undefined {
  return region ?? /\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/.exec(host)?.[1];
}

export const ecr: RegistryDriver = {
  kind: 'ecr',
  defaultCredentials: {},
  login(registry) {
    const region = ecrRegion(registry.host, registry.region);
    return {
      argv: ['aws', 'ecr', 'get-login-password', ...(region ? ['--region', region] : [])],
      username: 'AWS',
      host: registry.host,
      why: 'ECR tokens come from the AWS CLI (install awscli and configure credentials, e.g. AWS_PROFILE or AWS_ACCESS_KEY_ID)',
    };
  },
};
