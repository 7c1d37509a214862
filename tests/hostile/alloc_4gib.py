# expect: oom  type: OutOfMemory
import numpy as np
a = np.ones(4 << 30, dtype=np.uint8)   # touched: every page is real
print(a.sum())
