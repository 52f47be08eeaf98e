/*
 * The peer model: the mechanism of kptsim's vfree-huge-vmap scenario in Promela, for SPIN.
 *
 * Same threads as kptsim's world: cpu0:vmalloc, cpu1:attacker, dev0:probe and two kworkers; same
 * number of page frames (NPAGES, 2048 by default as in kptsim's default machine). What it keeps of
 * the mechanism, at the granularity of kptsim's steps:
 *  - one PMD entry of init_mm (`pde`) over the vmalloc range: none, a PTE table's frame, or a huge
 *    leaf after vmap_try_huge_pmd();
 *  - the IOMMU's PDE paging-structure cache for the bound PASID (`pwc`): a cached non-leaf PDE
 *    value, filled by a walk and dropped only by an IOMMU invalidation;
 *  - the page allocator as kptsim's order-0 behaviour: a freed frame is the next one handed out
 *    (LIFO), otherwise the highest free frame;
 *  - the device walk: PWC lookup, else read the PDE from memory and cache it, then read the PTE in
 *    the table frame. Reading a frame that is no longer a page table is the use-after-free that
 *    kptsim reports as iommu-use-after-free (the assertion below);
 *  - invalidation completion as kptsim's IOMMU (VT-d 6.5.2.8): the PWC entry is dropped, then the
 *    wait descriptor completes only once the walk in flight has finished (the drain), and a walk
 *    that overlapped an invalidation does not fill the cache afterwards.
 * What it leaves out, and kptsim has: real 64-bit entries and the 4-level walk, the IOTLB, the
 * buddy free lists and their checks, page flags, locks other than the workqueue's PENDING bit, the
 * CPU TLBs, the kernel's own page-table pages beyond the one PTE table.
 *
 * DESIGN: 0 = immediate (v6.18: the table freed at once, no IOMMU flush),
 *         1 = v3 (the IOMMU flush queued as a work item, the table still freed at once),
 *         2 = upstream (v6.19: the table put on a deferred list; the work flushes, then frees).
 */
#ifndef NPAGES
#define NPAGES 2048
#endif
#ifndef DESIGN
#define DESIGN 0
#endif
#ifndef PROBES
#define PROBES 2
#endif

#define FREE    0
#define PGTABLE 1
#define INUSE   2

#define NONE (-1)
#define HUGE (-2)

byte page[NPAGES];          /* what each frame holds */
short lastfreed = NONE;     /* the frame the next order-0 allocation gets back (LIFO) */
short pde = NONE;           /* init_mm's PMD entry over the vmalloc range */
short pwc = NONE;           /* the IOMMU's cached PDE for that range */
bool bound;                 /* iommu_sva_bind_device() done */
byte generation;            /* publications of a vmalloc address to the device */
short deferred = NONE;      /* the design's deferred-free list (upstream), one table at most here */
bool pending;               /* the work item's PENDING bit: queued, not yet running */
bool flushwork;             /* v3: the queued work flushes the IOMMU */
bool inflight;              /* a device request is being translated */
byte invseq;                /* invalidations processed (a walk remembers it to skip a stale fill) */

/* iommu_sva_invalidate_kva_range(): drop the cached PDE, then wait for the walk in flight. */
inline iommu_invalidate() {
  d_step { pwc = NONE; invseq++ };
  !inflight
}

/* alloc_page(): the frame freed last if it is free, else the highest free frame. */
inline alloc_page(f) {
  d_step {
    if
    :: lastfreed != NONE && page[lastfreed] == FREE -> f = lastfreed; lastfreed = NONE
    :: else ->
       f = NPAGES - 1;
       do
       :: f > 0 && page[f] != FREE -> f--
       :: else -> break
       od;
       assert(page[f] == FREE)
    fi;
    page[f] = INUSE
  }
}

inline free_page(f) {
  d_step { page[f] = FREE; lastfreed = f }
}

/* schedule_work(): queue unless PENDING (no second queueing while it waits). */
inline schedule_work() {
  pending = true
}

/* The kernel side of one round: vmalloc a page, publish, vfree, huge vmalloc over the range. */
active proctype vmalloc() {
  short pt;
  bound;
  alloc_page(pt);                    /* the PTE table vmap_range allocates */
  d_step { page[pt] = PGTABLE };
  pde = pt;                          /* pmd_populate_kernel */
  generation++;                      /* publish the small mapping to the device */
  /* vfree + purge: the PTE is cleared and the TLB flushed; the table stays */
  pde = HUGE;                        /* vmap_try_huge_pmd: pmd_set_huge over the table */
#if DESIGN == 0
  free_page(pt);                     /* pmd_free_pte_page: pte_free_kernel at once */
#elif DESIGN == 1
  d_step { flushwork = true; schedule_work() };
  free_page(pt);
#else
  d_step { deferred = pt; schedule_work() };
#endif
  generation++                       /* publish the huge mapping */
}

/* The kernel_pgtable work item, on two kworkers; one runs it at a time (PENDING cleared at start). */
active [2] proctype kworker() {
  short victim;
end:
  do
  :: atomic { pending -> pending = false }
#if DESIGN == 1
     iommu_invalidate();
#elif DESIGN == 2
     victim = deferred; deferred = NONE;
     iommu_invalidate();             /* invalidate first ... */
     if
     :: victim != NONE -> free_page(victim)   /* ... then free */
     :: else -> skip
     fi;
#endif
     skip
  od
}

/* The user process: a PGD and a faulted page, then the SVA bind. */
active proctype attacker() {
  short pgd, data;
  alloc_page(pgd);
  alloc_page(data);
  bound = true
}

/* The SVA device: probes the published address after each publication, plus PROBES spare probes. */
active proctype probe() {
  byte seen;
  byte spare = PROBES;
  short t;
  byte seq;
  bound;
end:
  do
  :: atomic { generation > seen -> seen = generation }
     goto walk
  :: atomic { generation > 0 && spare > 0 -> spare-- }
     goto walk
  od;
walk:
  atomic { inflight = true; seq = invseq };
  if
  :: pwc != NONE -> t = pwc          /* paging-structure cache hit */
  :: else ->
     t = pde;                        /* read the PDE from memory */
     if
     :: atomic { t >= 0 && seq == invseq -> pwc = t }   /* cached unless invalidated meanwhile */
     :: else -> skip
     fi
  fi;
  if
  :: t >= 0 -> assert(page[t] == PGTABLE)   /* read the PTE: the frame must still be that table */
  :: else -> skip
  fi;
  inflight = false;
  goto end
}
