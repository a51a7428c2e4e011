// The golden files: a few generated bento-server files, checked in and compared byte for byte.
import { join } from 'node:path';
import { REPO } from './spec.ts';

export const GOLDEN_DIR = join(REPO, 'test', 'golden', 'bento-server');
export const GOLDEN_FILES = ['debian11/base/Dockerfile', 'debian11/devel-trt/Dockerfile', 'ubi8/cudnn/Dockerfile', 'ubi8/cudnn/cuda.repo-arm64v8', 'amazonlinux2/base/Dockerfile', 'alpine3.14/runtime/Dockerfile'];
