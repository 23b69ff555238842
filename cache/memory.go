package cache

import "crypto/sha256"

// entry is a resident block: its bytes and the buffer holding them.
type entry struct {
	data []byte
	buf  *buffer
}

// buffer is memory holding resident blocks (the blocks of one fetch share
// it). Heap memory counts against the budget while any of its blocks is
// resident. Arena memory (perBlock) counts block by block, and the pages
// of an evicted block are given back as soon as no read pins the buffer.
type buffer struct {
	size     int64
	refs     int      // resident blocks in it
	pins     int      // reads (and the fetch filling it) using its bytes now
	ext      extent   // its arena memory, given back when refs and pins are 0
	perBlock bool     // arena memory of whole pages per block: charged and given back by block
	gone     [][]byte // perBlock: evicted blocks whose pages wait for the last pin
}

// add makes data, held in buf, resident under k and evicts the least
// recently used blocks until the budget holds. An evicted block that has no
// block file (its write was dropped) is offered to the disk queue again.
// c.mu must be held.
func (c *Cache) add(k blockKey, data []byte, buf *buffer) {
	if !buf.perBlock && buf.size > c.memory {
		return
	}
	if old, ok := c.lru.Peek(k); ok {
		c.lru.Remove(k)
		c.release(old)
	}
	c.lru.Add(k, entry{data, buf})
	switch {
	case buf.perBlock:
		c.bytes += int64(len(data))
	case buf.refs == 0:
		c.bytes += buf.size
	}
	buf.refs++
	for c.bytes > c.memory {
		ek, old, ok := c.lru.RemoveOldest()
		if !ok {
			break
		}
		if c.disk != nil { // before release: that may give old's memory back
			c.queueDisk(diskKey{c.keySum(ek.key), ek.idx}, old.data)
		}
		c.release(old)
		c.stats.Evictions++
	}
}

// release drops a block that left the LRU from its buffer, which stops
// counting when its last block goes (heap) or with the block (arena).
// c.mu must be held.
func (c *Cache) release(e entry) {
	b := e.buf
	b.refs--
	switch {
	case b.perBlock:
		c.bytes -= int64(len(e.data))
		b.gone = append(b.gone, e.data)
	case b.refs == 0:
		c.bytes -= b.size
	}
	c.maybeFree(b)
}

// keySum returns sha256(key), remembering the last one: evictions come in
// runs of blocks of one object. c.mu must be held.
func (c *Cache) keySum(key string) [sha256.Size]byte {
	if key != c.sumKey || key == "" {
		c.sumKey, c.sum = key, sha256.Sum256([]byte(key))
	}
	return c.sum
}

// Prime stores the complete blocks within data, which holds the bytes of
// obj from offset off, as if they had been fetched (and queues them for the
// disk tier), so that a caller that already read part of an object (its
// head, for size discovery) does not have it fetched again. A block is
// complete when data covers all of it; the short last block of the object
// counts. Partial blocks at either end of data are ignored. data is copied.
func (c *Cache) Prime(obj Object, off int64, data []byte) {
	if off < 0 || obj.Size < 0 || off >= obj.Size {
		return
	}
	bs := c.blockSize
	end := min(off+int64(len(data)), obj.Size)
	type primed struct {
		idx  int64
		data []byte
	}
	var blocks []primed
	for idx := (off + bs - 1) / bs; idx*bs < end; idx++ {
		bOff := idx * bs
		bEnd := min(bOff+bs, obj.Size)
		if bEnd > end {
			break
		}
		blocks = append(blocks, primed{idx, append([]byte(nil), data[bOff-off:bEnd-off]...)})
	}
	if len(blocks) == 0 {
		return
	}
	var sum [sha256.Size]byte
	if c.disk != nil {
		sum = sha256.Sum256([]byte(obj.Key))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range blocks {
		c.add(blockKey{obj.Key, b.idx}, b.data, &buffer{size: int64(len(b.data))})
		if c.disk != nil {
			c.queueDisk(diskKey{sum, b.idx}, b.data)
		}
	}
}

// Contains reports whether every block of [off, min(off+n, size)) of the
// object version key is resident in memory (the disk tier is not asked). An empty range is resident; a negative
// offset is not. It does not change recency or counters.
func (c *Cache) Contains(key string, off, n int64, size int64) bool {
	if off < 0 {
		return false
	}
	end := size
	if n < size-off {
		end = off + n
	}
	if off >= end {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for idx := off / c.blockSize; idx <= (end-1)/c.blockSize; idx++ {
		if !c.lru.Contains(blockKey{key, idx}) {
			return false
		}
	}
	return true
}

// unpin drops the pins a read took on the memory of its slots (see plan),
// giving back memory that no block and no read holds any more.
func (c *Cache) unpin(slots []slot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range slots {
		if s.pin != nil {
			s.pin.pins--
			c.maybeFree(s.pin)
		}
	}
}

// maybeFree gives the arena memory of b back once no pin holds it: all of
// it when no block is resident either, else the pages of its evicted
// blocks. c.mu must be held (the only syscalls made under it: holes punched
// in a memfd, no disk I/O).
func (c *Cache) maybeFree(b *buffer) {
	if b.pins > 0 || !b.ext.ok() {
		return
	}
	if b.refs == 0 {
		c.arena.free(b.ext)
		b.ext, b.gone = extent{}, nil
		return
	}
	for _, d := range b.gone {
		c.arena.punch(d)
	}
	b.gone = b.gone[:0]
}
