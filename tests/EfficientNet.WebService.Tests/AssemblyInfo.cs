// Tests share two cores with native thread pools (ONNX Runtime): run them one at a time.
[assembly: DoNotParallelize]
