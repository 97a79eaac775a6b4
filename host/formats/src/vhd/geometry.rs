//! CHS disk geometry, computed from the size as the VHD specification's appendix prescribes.

/// Cylinders, heads and sectors per track, as stored in a VHD footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub cylinders: u16,
    pub heads: u8,
    pub sectors_per_track: u8,
}

impl Geometry {
    /// The geometry that the VHD specification assigns to a disk of `size` bytes. Disks larger than
    /// what CHS can express get the maximum geometry (65535/16/255).
    pub fn for_size(size: u64) -> Self {
        const MAX_SECTORS: u64 = 65535 * 16 * 255;
        let total = (size / 512).min(MAX_SECTORS);
        let (sectors_per_track, heads, cylinder_times_heads) = if total >= 65535 * 16 * 63 {
            (255, 16, total / 255)
        } else {
            let mut spt = 17;
            let mut cth = total / spt;
            let mut heads = cth.div_ceil(1024).max(4);
            if cth >= heads * 1024 || heads > 16 {
                spt = 31;
                heads = 16;
                cth = total / spt;
            }
            if cth >= heads * 1024 {
                spt = 63;
                heads = 16;
                cth = total / spt;
            }
            (spt, heads, cth)
        };
        Geometry {
            cylinders: (cylinder_times_heads / heads) as u16,
            heads: heads as u8,
            sectors_per_track: sectors_per_track as u8,
        }
    }

    /// The number of bytes the geometry addresses (what CHS-based readers take as the disk size).
    pub fn addressable_bytes(self) -> u64 {
        u64::from(self.cylinders) * u64::from(self.heads) * u64::from(self.sectors_per_track) * 512
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_disks_use_17_sectors_and_at_least_4_heads() {
        let g = Geometry::for_size(10 * 1024 * 1024);
        assert_eq!((g.heads, g.sectors_per_track), (4, 17));
        assert_eq!(g.cylinders, 301);
    }

    #[test]
    fn large_disks_saturate_at_the_maximum_geometry() {
        let g = Geometry::for_size(2 << 40);
        assert_eq!(
            (g.cylinders, g.heads, g.sectors_per_track),
            (65535, 16, 255)
        );
    }

    #[test]
    fn geometry_never_addresses_more_than_the_size() {
        for size in [1 << 20, 100 << 20, 1 << 30, 127 << 30, 1 << 40] {
            assert!(Geometry::for_size(size).addressable_bytes() <= size);
        }
    }
}
